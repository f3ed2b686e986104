// Check-in at the door: scan a ticket's QR code with the phone's camera. Without a camera or
// this script, the code is typed (or a hand scanner types it) into the same form.
(function () {
  "use strict";
  var form = document.getElementById("checkin-form");
  var button = document.getElementById("scan-button");
  var video = document.getElementById("scan-video");
  if (!form || !button || !video || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return;
  }
  var input = form.querySelector("input[name=code]");
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var detector = "BarcodeDetector" in window ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
  var stream = null;
  button.hidden = false;

  function stop() {
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
    }
    video.hidden = true;
  }

  function found(text) {
    stop();
    input.value = text;
    form.submit();
  }

  function tick() {
    if (!stream) { return; }
    if (video.readyState === video.HAVE_ENOUGH_DATA) {
      if (detector) {
        detector.detect(video).then(function (codes) {
          if (codes.length) { found(codes[0].rawValue); } else { requestAnimationFrame(tick); }
        }, function () { detector = null; requestAnimationFrame(tick); });
        return;
      }
      if (window.jsQR) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        var image = context.getImageData(0, 0, canvas.width, canvas.height);
        var code = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
        if (code && code.data) { found(code.data); return; }
      }
    }
    requestAnimationFrame(tick);
  }

  button.addEventListener("click", function () {
    if (stream) { stop(); return; }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      video.play();
      requestAnimationFrame(tick);
    }, function () {
      button.hidden = true;
      input.focus();
    });
  });
})();
