// A fake Meta Pixel: a browser id cookie and a PageView to facebook.com/tr.
(function () {
  var fbp = "fb.1." + Date.now() + "." + Math.floor(Math.random() * 1e9);
  document.cookie = "_fbp=" + fbp + "; path=/";
  new Image().src = "https://www.facebook.com/tr/?id=1234567890&ev=PageView&dl=" +
    encodeURIComponent(location.href) + "&fbp=" + fbp;
})();
