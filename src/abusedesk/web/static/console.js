// The console's only script (the Content-Security-Policy forbids inline ones): a confirmation
// before forms marked data-confirm are sent, e.g. deleting an account.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
