/** Small line icons for the navigation (inline SVG: no icon font, no network, no inline styles). */
const PATHS: Record<string, string> = {
  // a car seen from the side
  vehicles: 'M3 13l1.6-4.2A2 2 0 0 1 6.5 7.5h7a2 2 0 0 1 1.9 1.3L17 13M3 13h14v3H3zM6 16v1.5M14 16v1.5',
  // a paper plane: send a request
  request: 'M3 10l14-6-5 14-2.5-5.5L3 10zM9.5 12.5L17 4',
  // a key
  token: 'M12.5 7.5a3.5 3.5 0 1 1-1 2.5L4 17.5M6 15.5l1.5 1.5M8 13.5l1.5 1.5',
  // a clock
  history: 'M10 3.5a6.5 6.5 0 1 1 0 13 6.5 6.5 0 0 1 0-13zM10 6.5V10l2.5 1.5',
  // sliders
  settings: 'M4 6h8M15 6h1M4 14h1M8 14h8M13.5 4v4M6.5 12v4',
}

export function NavIcon({ name }: { name: string }) {
  return (
    <svg className="nav__icon" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
      <path d={PATHS[name] ?? ''} fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  )
}
