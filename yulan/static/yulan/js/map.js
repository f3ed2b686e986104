// Progressive enhancement: the place page shows its address and coordinates without this.
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) { return; }
  var lat = parseFloat(el.dataset.lat), lng = parseFloat(el.dataset.lng);
  if (!isFinite(lat) || !isFinite(lng)) { return; }
  var fallback = el.innerHTML;
  try {
    // The map's controls would cover the text; it comes back below the map if tiles fail.
    el.textContent = "";
    var map = L.map(el, { scrollWheelZoom: false }).setView([lat, lng], 16);
    var tiles = L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution });
    var failed = 0;
    tiles.on("tileerror", function () {
      failed += 1;
      if (failed === 4) {
        var note = document.createElement("div");
        note.className = "meta";
        note.innerHTML = fallback;
        el.parentNode.insertBefore(note, el.nextSibling);
      }
    });
    tiles.addTo(map);
    L.marker([lat, lng], { title: el.dataset.label, alt: el.dataset.label }).addTo(map);
  } catch (e) {
    el.innerHTML = fallback;
  }
})();
