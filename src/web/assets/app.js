// The web inbox's one script: copy buttons (an account's address to the clipboard).
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const text = button.getAttribute("data-copy");
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch (_) {
    // No clipboard (an insecure origin, a denied permission): select the address instead.
    const target = document.getElementById(button.getAttribute("aria-controls"));
    if (target) window.getSelection().selectAllChildren(target);
    button.textContent = "Press Ctrl+C";
  }
});
