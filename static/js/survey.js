/* The patient's questionnaire: focus on the error summary, the EQ VAS slider, and
   questions asked only on a condition (shown when they apply, hidden and cleared when not).
   Loaded from templates/survey/base.html and by the staff entry page
   (templates/patients/visit_entry.html), which types a paper form into the same questions
   (CSP: no inline script). Every page works without it; this only makes errors easier to
   reach, the 0-100 scale usable and the questions that do not apply go away. */
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

  /* Conditional questions (data-enable-* on the element around the question, written by
     the server from the definition's enable_when; data-enable-question is the id of the
     element around the question it depends on). Without this script every question shows with its
     note ("Answer only if ..."), and the server ignores answers to those that do not
     apply. With it, a question that does not apply is hidden (so not focusable) and its
     answer cleared; a polite live region says what changed. */
  function currentValue(form, name) {
    var inputs = form.querySelectorAll("[name='" + name + "']");
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      if (input.type === "radio") {
        if (input.checked) return input.value === "" ? null : Number(input.value);
      } else if (/^\s*-?\d+\s*$/.test(input.value)) {
        return Number(input.value);
      }
    }
    return null;
  }

  function applies(form, question) {
    var ref = document.getElementById(question.dataset.enableQuestion);
    var value = ref && !ref.hidden ? currentValue(form, question.dataset.enableName) : null;
    var operator = question.dataset.enableOperator;
    if (operator === "exists") return (value !== null) === (question.dataset.enableExists === "true");
    if (value === null) return false;
    var answers = question.dataset.enableAnswers.split(" ").map(Number);
    var listed = answers.indexOf(value) !== -1;
    return operator === "=" ? listed : !listed;
  }

  function clearAnswers(question) {
    Array.prototype.forEach.call(question.querySelectorAll("input"), function (input) {
      if (input.type === "radio" || input.type === "checkbox") {
        input.checked = false;
      } else if (input.type !== "hidden" && input.value !== "") {
        input.value = "";
        input.dispatchEvent(new Event("input", { bubbles: true }));
      }
    });
  }

  function setUpConditions() {
    var questions = document.querySelectorAll("[data-enable-question]");
    if (!questions.length) return;
    var form = questions[0].closest("form");
    var status = document.getElementById("condition-status");

    function say(sentences) {
      if (!status || !sentences.length) return;
      status.textContent = "";
      window.setTimeout(function () { status.textContent = sentences.join(" "); }, 50);
    }

    function update(announce) {
      // Every question that appeared or went with this answer, said at once (one
      // announcement replaces the one before it).
      var changes = [];
      // In page order, so a question depending on a hidden one is hidden too.
      Array.prototype.forEach.call(questions, function (question) {
        var show = applies(form, question);
        if (show === !question.hidden) return;
        question.hidden = !show;
        if (!show) clearAnswers(question);
        var template = status && (show ? status.dataset.shown : status.dataset.hidden);
        if (template) changes.push(template.replace("%s", question.dataset.enableNumber));
      });
      if (announce) say(changes);
    }

    form.addEventListener("change", function () { update(true); });
    form.addEventListener("input", function (event) {
      if (event.target.type === "number") update(true);
    });
    update(false);
  }

  function ready() {
    setUpConditions();
    setUpErrors();
    // The patient's pages only: staff type in the number written on the sheet.
    Array.prototype.forEach.call(document.querySelectorAll(".survey [data-vas]"), setUpScale);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
