// Feedback pages. Progressive enhancement: every page works without this script; it adds the
// "Use my location" button to the form, hides the contact fields of an anonymous sender, and
// draws the map of the located items on the list.
(function () {
  "use strict";

  // --- the form: location --------------------------------------------------------------------
  var tools = document.getElementById("location-tools");
  var form = document.getElementById("feedback-form");
  if (tools && form && "geolocation" in navigator) {
    var use = document.getElementById("use-location");
    var clear = document.getElementById("clear-location");
    var status = document.getElementById("location-status");
    var lat = form.elements.latitude, lng = form.elements.longitude;
    tools.hidden = false;
    use.addEventListener("click", function () {
      status.textContent = tools.dataset.waiting;
      use.disabled = true;
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          lat.value = pos.coords.latitude.toFixed(6);
          lng.value = pos.coords.longitude.toFixed(6);
          status.textContent = tools.dataset.found;
          clear.hidden = false;
          use.disabled = false;
        },
        function () {
          status.textContent = tools.dataset.failed;
          use.disabled = false;
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
    clear.addEventListener("click", function () {
      lat.value = "";
      lng.value = "";
      status.textContent = "";
      clear.hidden = true;
      use.focus();
    });
  }

  // --- the form: an anonymous sender gives no contact details ----------------------------------
  var anonymous = document.getElementById("id_anonymous");
  var contact = document.getElementById("contact-fields");
  if (anonymous && contact) {
    var sync = function () { contact.hidden = anonymous.checked; };
    anonymous.addEventListener("change", sync);
    sync();
  }

  // --- the list: a map of the located items of the page ------------------------------------------
  var el = document.getElementById("feedback-map");
  var data = document.getElementById("feedback-points");
  if (el && data && window.L) {
    var points;
    try { points = JSON.parse(data.textContent); } catch (e) { return; }
    if (!points.length) { return; }
    el.hidden = false;
    try {
      var map = L.map(el, { scrollWheelZoom: false });
      L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution }).addTo(map);
      var bounds = [];
      points.forEach(function (p) {
        var marker = L.marker([p.lat, p.lng], { title: p.label, alt: p.label }).addTo(map);
        var popup = document.createElement("div");
        var link = document.createElement("a");
        link.href = p.url;
        link.textContent = p.label;
        var summary = document.createElement("p");
        summary.textContent = p.summary;
        popup.appendChild(link);
        popup.appendChild(summary);
        marker.bindPopup(popup);
        bounds.push([p.lat, p.lng]);
      });
      if (bounds.length === 1) { map.setView(bounds[0], 15); } else { map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 }); }
    } catch (e) {
      el.hidden = true;
    }
  }
})();
