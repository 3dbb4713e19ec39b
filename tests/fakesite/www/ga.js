// A fake Google Analytics: a client id cookie and a collect beacon with the page address.
(function () {
  var m = document.cookie.match(/(?:^|; )_ga=([^;]+)/);
  var cid = m ? m[1].split(".").slice(-2).join(".") : (Math.floor(Math.random() * 1e9) + "." + Math.floor(Date.now() / 1000));
  if (!m) { document.cookie = "_ga=GA1.1." + cid + "; path=/"; }
  var url = "https://www.google-analytics.com/g/collect?v=2&tid=G-FAKE0001&cid=" + cid +
    "&dl=" + encodeURIComponent(location.href) + "&dt=" + encodeURIComponent(document.title) + "&en=page_view";
  navigator.sendBeacon ? navigator.sendBeacon(url) : (new Image().src = url);
})();
