// Imitates OneTrust's banner markup (ids and classes autoconsent's OneTrust rule reads).
(function () {
  function loadPixel() {
    var s = document.createElement("script");
    s.src = "https://connect.facebook.net/en_US/fbevents.js";
    document.head.appendChild(s);
  }
  if (document.cookie.indexOf("OptanonAlertBoxClosed=") >= 0) { loadPixel(); return; }
  function show() {
    var sdk = document.createElement("div");
    sdk.id = "onetrust-consent-sdk";
    sdk.innerHTML =
      '<div id="onetrust-banner-sdk" class="otFlat" role="region" aria-label="Cookie banner"' +
      ' style="position:fixed;bottom:0;left:0;right:0;background:#fff;padding:1em;z-index:9">' +
      '<p id="onetrust-policy-text">We use cookies to improve your experience.</p>' +
      '<div id="onetrust-button-group">' +
      '<button id="onetrust-pc-btn-handler">Cookie settings</button>' +
      '<button id="onetrust-reject-all-handler">Reject all</button>' +
      '<button id="onetrust-accept-btn-handler">Accept all cookies</button></div></div>';
    document.body.appendChild(sdk);
    document.getElementById("onetrust-accept-btn-handler").addEventListener("click", function () {
      var when = new Date().toISOString();
      document.cookie = "OptanonConsent=isGpcEnabled=0&datestamp=" + encodeURIComponent(when) +
        "&groups=C0001%3A1%2CC0002%3A1%2CC0004%3A1; path=/";
      document.cookie = "OptanonAlertBoxClosed=" + when + "; path=/";
      document.getElementById("onetrust-banner-sdk").style.display = "none";
      loadPixel();
    });
  }
  if (document.body) { show(); } else { document.addEventListener("DOMContentLoaded", show); }
})();
