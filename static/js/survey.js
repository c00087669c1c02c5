/* The patient's questionnaire: focus on the error summary, and the EQ VAS slider.
   Loaded from templates/survey/base.html (CSP: no inline script). Every page works
   without it; this only makes errors easier to reach and the 0-100 scale usable. */
(function () {
  "use strict";

  function firstInput(question) {
    return question.querySelector("input:checked:not([type=hidden])") ||
      question.querySelector("input:not([type=hidden]):not([hidden]), select, textarea");
  }

  function focusQuestion(question) {
    var input = firstInput(question);
    question.scrollIntoView({ block: "start" });
    if (input) input.focus({ preventScroll: true });
  }

  /* Errors: move focus to the summary (or to the question a link pointed at);
     a link in the summary focuses its question's answer, legend in view. */
  function setUpErrors() {
    var summary = document.getElementById("error-summary");
    if (!summary) return;
    var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (target && target.classList.contains("survey-question")) {
      // After the browser's own scroll to the fragment, which resets the focus.
      window.addEventListener("load", function () {
        window.setTimeout(function () { focusQuestion(target); }, 0);
      });
    } else {
      summary.focus();
    }
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) return;
      var question = document.getElementById(link.getAttribute("href").slice(1));
      if (!question) return;
      event.preventDefault();
      focusQuestion(question);
    });
  }

  /* The EQ VAS: a vertical slider with no value until moved, writing the number box. */
  function setUpScale(root) {
    var scale = root.querySelector("[data-vas-scale]");
    var range = root.querySelector("[data-vas-range]");
    var number = root.querySelector("[data-vas-number]");
    if (!scale || !range || !number) return;
    var low = Number(range.min), high = Number(range.max);

    function show(value) {
      if (value === null) {
        range.classList.add("is-unset");
        range.setAttribute("aria-valuetext", range.dataset.unsetText || "–");
      } else {
        range.classList.remove("is-unset");
        range.value = String(value);
        range.removeAttribute("aria-valuetext");
      }
    }

    function parse(text) {
      if (!/^\s*\d+\s*$/.test(text)) return null;
      var value = Number(text);
      return value >= low && value <= high ? value : null;
    }

    function set(value) {
      value = Math.max(low, Math.min(high, value));
      number.value = String(value);
      show(value);
    }

    range.addEventListener("input", function () { set(Number(range.value)); });
    number.addEventListener("input", function () { show(parse(number.value)); });
    range.addEventListener("keydown", function (event) {
      var steps = { ArrowUp: 1, ArrowRight: 1, ArrowDown: -1, ArrowLeft: -1,
                    PageUp: 10, PageDown: -10 };
      var current = range.classList.contains("is-unset") ? Number(range.value) : parse(number.value);
      if (current === null) current = Number(range.value);
      if (event.key in steps) {
        set(current + steps[event.key]);
      } else if (event.key === "Home") {
        set(low);
      } else if (event.key === "End") {
        set(high);
      } else {
        return;
      }
      event.preventDefault();
    });
    show(parse(number.value));
    scale.hidden = false;
  }

  function ready() {
    setUpErrors();
    Array.prototype.forEach.call(document.querySelectorAll("[data-vas]"), setUpScale);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
