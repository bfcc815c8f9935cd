// Ask before a step that is hard to take back (forms with data-confirm). Without JavaScript the form still works.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
