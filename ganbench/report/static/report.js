/* ganbench report: sections as tabs, and the training-evolution players.
   Without this script every section is shown one after another and the players stay blank. */
(function () {
  "use strict";

  /* ---- Sections as tabs ------------------------------------------------------------------ */
  var panels = Array.prototype.slice.call(document.querySelectorAll("body > section[id]"));
  var nav = document.querySelector("nav.toc");
  var all = document.getElementById("show-all");
  var subnav = nav ? nav.querySelector(".subnav") : null;
  function show(id) {
    document.body.classList.remove("all-sections");
    panels.forEach(function (p) { p.hidden = id !== "*" && p.id !== id; });
    if (nav) {
      Array.prototype.forEach.call(nav.querySelectorAll("ol > li[data-tab]"), function (li) {
        var on = li.getAttribute("data-tab") === id;
        li.classList.toggle("active", on);
        li.querySelector("a").setAttribute("aria-current", on ? "page" : "false");
      });
    }
    if (all) { all.setAttribute("aria-pressed", id === "*" ? "true" : "false"); }
    if (subnav) {  /* the active section's sub-sections, as a second row of the bar */
      var li = nav.querySelector("ol > li.active");
      var links = li ? li.querySelectorAll(":scope > ol a") : [];
      subnav.textContent = "";
      Array.prototype.forEach.call(links, function (a) { subnav.appendChild(a.cloneNode(true)); });
      subnav.hidden = links.length === 0;
    }
    if (id === "*") { document.body.classList.add("all-sections"); }
  }
  function reveal(hash) {
    if (!hash || hash.length < 2) { return false; }
    var el = document.getElementById(decodeURIComponent(hash.slice(1)));
    if (!el) { return false; }
    var panel = el.closest("body > section[id]");
    if (panel && panel.hidden) { show(panel.id); }
    for (var d = el.closest("details"); d; d = d.parentElement.closest("details")) { d.open = true; }
    if (el.tagName === "DETAILS") { el.open = true; }
    return true;
  }
  if (panels.length) {
    document.body.classList.add("tabs");
    document.addEventListener("click", function (e) {
      var a = e.target.closest("a[href^='#']");
      if (!a) { return; }
      var hash = a.getAttribute("href");
      if (reveal(hash)) {  /* the browser then scrolls to the target as usual */
        var el = document.getElementById(decodeURIComponent(hash.slice(1)));
        if (location.hash === hash) { e.preventDefault(); el.scrollIntoView(); }
      }
    });
    window.addEventListener("hashchange", function () {
      if (reveal(location.hash)) {
        document.getElementById(decodeURIComponent(location.hash.slice(1))).scrollIntoView();
      }
    });
    if (all) {
      all.hidden = false;
      all.addEventListener("click", function () {
        show(all.getAttribute("aria-pressed") === "true" ? panels[0].id : "*");
      });
    }
    window.addEventListener("beforeprint", function () { show("*"); });
    show(panels[0].id);
    if (reveal(location.hash)) {
      document.getElementById(decodeURIComponent(location.hash.slice(1))).scrollIntoView();
    }
  }

  /* ---- Training-evolution players --------------------------------------------------------- */
  var MISSING = 255;
  function decode(b64) {
    var s = atob(b64), out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) { out[i] = s.charCodeAt(i); }
    return out;
  }
  function pointsDrawer(el, meta) {
    var canvas = el.querySelector("canvas"), ctx = canvas.getContext("2d");
    var bytes = decode(el.getAttribute("data-frames"));
    var S = meta.seeds.length, P = meta.points, W = canvas.width, H = canvas.height;
    var lo = meta.extent[0], hi = meta.extent[1];
    function px(v) { return (v - lo) / (hi - lo); }
    return function (t, s) {
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, W, H);
      ctx.fillStyle = "rgba(47, 93, 158, 0.55)";
      var base = ((t * S) + s) * P * 2;
      for (var i = 0; i < P; i++) {
        var qx = bytes[base + 2 * i], qy = bytes[base + 2 * i + 1];
        if (qx === MISSING || qy === MISSING) { continue; }
        ctx.fillRect(qx / (MISSING - 1) * (W - 2), (1 - qy / (MISSING - 1)) * (H - 2), 2, 2);
      }
      ctx.strokeStyle = "#000000";
      ctx.lineWidth = 1;
      meta.centres.forEach(function (c) {
        var x = px(c[0]) * W, y = (1 - px(c[1])) * H;
        ctx.beginPath();
        ctx.moveTo(x - 3, y - 3); ctx.lineTo(x + 3, y + 3);
        ctx.moveTo(x - 3, y + 3); ctx.lineTo(x + 3, y - 3);
        ctx.stroke();
      });
    };
  }
  function imagesDrawer(el, meta) {
    var img = el.querySelector("img.frame");
    return function (t) { img.src = meta.frames[t]; };
  }
  function player(el) {
    var meta = JSON.parse(el.getAttribute("data-meta"));
    var draw = el.getAttribute("data-kind") === "points" ? pointsDrawer(el, meta) : imagesDrawer(el, meta);
    var slider = el.querySelector(".step-slider"), label = el.querySelector(".step-label");
    var button = el.querySelector("button.play"), seed = el.querySelector("select.seed");
    var T = meta.steps.length, timer = null;
    function render() {
      var t = +slider.value;
      draw(t, seed ? +seed.value : 0);
      label.textContent = "step " + meta.steps[t] + " (" + (t + 1) + "/" + T + ")";
      el.setAttribute("data-frame", String(t));
    }
    function stop() {
      if (timer !== null) { clearInterval(timer); timer = null; }
      button.textContent = "Play";
      el.classList.remove("playing");
    }
    button.addEventListener("click", function () {
      if (timer !== null) { stop(); return; }
      if (+slider.value >= T - 1) { slider.value = 0; render(); }
      button.textContent = "Pause";
      el.classList.add("playing");
      timer = setInterval(function () {
        slider.value = Math.min(+slider.value + 1, T - 1);
        render();
        if (+slider.value >= T - 1) { stop(); }
      }, 250);
    });
    slider.addEventListener("input", function () { stop(); render(); });
    if (seed) { seed.addEventListener("change", render); }
    render();
  }
  Array.prototype.forEach.call(document.querySelectorAll("div.player[data-meta]"), player);
})();
