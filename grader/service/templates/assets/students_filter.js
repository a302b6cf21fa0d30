
const box = document.getElementById('search');
const rows = Array.from(document.querySelectorAll('#students tbody tr'));
const count = document.getElementById('shown-count');
box.addEventListener('input', () => {
  const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  for (const row of rows) {
    const found = words.every((word) => row.dataset.search.includes(word));
    row.hidden = !found;
    if (found) shown += 1;
  }
  count.textContent = String(shown);
});
