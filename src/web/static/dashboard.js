// Keeps the dashboard current without a full reload: every 10 s, while the tab is visible, fetch the page
// again and swap the main content (scroll position and the rest of the page stay).
const INTERVAL = 10_000;

async function refresh() {
  if (document.visibilityState !== 'visible' || window.getSelection()?.toString()) return;
  const res = await fetch(location.pathname, { headers: { accept: 'text/html' } });
  if (!res.ok) return;
  const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
  const fresh = doc.querySelector('main');
  const current = document.querySelector('main');
  if (fresh && current) current.replaceChildren(...fresh.childNodes);
}

setInterval(() => {
  refresh().catch(() => {});
}, INTERVAL);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') refresh().catch(() => {});
});
