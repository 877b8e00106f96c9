// Renders the cards in #cards with Microsoft's Adaptive Cards renderer and the Teams-like host config in
// #host-config, each at every width in #widths, and writes what a person would meet into #results as JSON:
// the renderer's parse and validation events and console warnings, button titles it cut with an ellipsis,
// each text input's maxLength, whether anything is wider than the card, and the card's height.
(function () {
  "use strict";
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const results = [];
  const problems = [];
  let sink = problems;
  // The renderer reports some problems only on the console (too many actions, unknown elements...).
  console.warn = (...args) => sink.push("warning: " + args.join(" "));
  console.error = (...args) => sink.push("error: " + args.join(" "));
  window.addEventListener("error", (e) => problems.push("script error: " + e.message));

  const hostConfig = new AdaptiveCards.HostConfig(read("host-config"));
  const describe = (e) =>
    `${AdaptiveCards.ValidationPhase[e.phase] || "validation"} ${AdaptiveCards.ValidationEvent[e.event]}: ${e.message}`;

  function measure(holder, card) {
    const top = holder.getBoundingClientRect().top;
    const buttons = [];
    for (const button of holder.querySelectorAll("button.ac-pushButton")) {
      if (!button.offsetParent) continue; // inside a show card not opened: checked as a card of its own
      const title = button.querySelector("div") || button;
      buttons.push({
        title: title.textContent,
        cut: title.scrollWidth > title.clientWidth + 1,
        top: Math.round(button.getBoundingClientRect().top - top),
      });
    }
    const inputs = {};
    for (const input of card.getAllInputs()) {
      const control = input.renderedElement && input.renderedElement.querySelector("input, textarea");
      if (control && control.maxLength >= 0) inputs[input.id] = control.maxLength;
      else if (control) inputs[input.id] = null;
    }
    return {
      buttons,
      inputs,
      tooWide: holder.scrollWidth > holder.clientWidth + 1,
      text: holder.innerText,
      height: Math.round(holder.getBoundingClientRect().height),
    };
  }

  const mode = read("mode");
  try {
  for (const [index, json] of read("cards").entries()) {
    for (const width of read("widths")) {
      const events = [];
      sink = events;
      const holder = document.createElement("div");
      holder.className = "holder";
      holder.style.width = width + "px";
      document.getElementById("chat").appendChild(holder);
      const card = new AdaptiveCards.AdaptiveCard();
      card.hostConfig = hostConfig;
      const context = new AdaptiveCards.SerializationContext();
      card.parse(json, context);
      for (let i = 0; i < context.eventCount; i++) events.push(describe(context.getEventAt(i)));
      for (const e of card.validateProperties().validationEvents) events.push(describe(e));
      const element = card.render();
      if (element) holder.appendChild(element);
      else events.push("error: the renderer rendered nothing");
      sink = problems;
      results.push({ index, width, events, ...measure(holder, card) });
      if (mode !== "check") break;
    }
  }
  } catch (error) {
    problems.push("script error: " + (error && error.stack ? error.stack : error));
  }
  document.getElementById("results").textContent = JSON.stringify({ results, problems });
})();
