import { useEffect, useRef, useState } from 'preact/hooks';
import { useBlobUrl } from '../api';

type Mode = 'side' | 'overlay' | 'flicker';

/**
 * The probe face beside the enrolled face with one zoom and pan for both (slider, buttons, +/- and arrow keys on a focused
 * image, or dragging), and an overlay (adjustable opacity) or flicker view of the two aligned crops.
 */
export function Compare(p: { probe: string; candidate: string; candidateName: string }) {
  const probe = useBlobUrl(p.probe);
  const cand = useBlobUrl(p.candidate);
  const [zoom, setZoom] = useState(1);
  const [pan, setPan] = useState({ x: 0, y: 0 });
  const [mode, setMode] = useState<Mode>('side');
  const [opacity, setOpacity] = useState(50);
  const [flip, setFlip] = useState(false);
  const drag = useRef<{ x: number; y: number } | null>(null);

  useEffect(() => {
    if (mode !== 'flicker') return;
    const t = setInterval(() => setFlip((f) => !f), 600);
    return () => clearInterval(t);
  }, [mode]);

  const clampZoom = (z: number) => Math.min(8, Math.max(1, Math.round(z * 4) / 4));
  const move = (dx: number, dy: number) => setPan((q) => ({ x: q.x + dx, y: q.y + dy }));
  const onKey = (e: KeyboardEvent) => {
    const step = 10;
    const keys: Record<string, () => void> = {
      ArrowLeft: () => move(step, 0),
      ArrowRight: () => move(-step, 0),
      ArrowUp: () => move(0, step),
      ArrowDown: () => move(0, -step),
      '+': () => setZoom((z) => clampZoom(z + 0.5)),
      '=': () => setZoom((z) => clampZoom(z + 0.5)),
      '-': () => setZoom((z) => clampZoom(z - 0.5)),
      '0': () => {
        setZoom(1);
        setPan({ x: 0, y: 0 });
      },
    };
    const f = keys[e.key];
    if (f) {
      e.preventDefault();
      f();
    }
  };
  const pointer = {
    onPointerDown: (e: PointerEvent) => {
      drag.current = { x: e.clientX, y: e.clientY };
      (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    },
    onPointerMove: (e: PointerEvent) => {
      if (!drag.current) return;
      move((e.clientX - drag.current.x) / zoom, (e.clientY - drag.current.y) / zoom);
      drag.current = { x: e.clientX, y: e.clientY };
    },
    onPointerUp: () => (drag.current = null),
  };
  const transform = `scale(${zoom}) translate(${pan.x}px, ${pan.y}px)`;
  const view = (url: string | null, alt: string, style: Record<string, string> = {}) =>
    url ? <img src={url} alt={alt} style={{ transform, ...style }} draggable={false} /> : <span class="placeholder">{alt}: not available</span>;
  const viewport = (label: string, body: preact.ComponentChildren) => (
    <div class="viewport" tabIndex={0} role="group" aria-label={`${label}. Arrow keys pan, plus and minus zoom, 0 resets.`} onKeyDown={onKey} {...pointer}>
      {body}
    </div>
  );

  return (
    <section class="compare" aria-label="Face comparison">
      <fieldset class="inline">
        <legend>View</legend>
        {(['side', 'overlay', 'flicker'] as Mode[]).map((m) => (
          <label key={m}>
            <input type="radio" name="compare-mode" value={m} checked={mode === m} onChange={() => setMode(m)} />
            {m === 'side' ? 'Side by side' : m === 'overlay' ? 'Overlay' : 'Flicker'}
          </label>
        ))}
      </fieldset>
      <div class="inline">
        <label for="zoom">Zoom ({zoom.toFixed(2)}×)</label>
        <input id="zoom" type="range" min={1} max={8} step={0.25} value={zoom} onInput={(e) => setZoom(Number(e.currentTarget.value))} />
        <button type="button" class="secondary" onClick={() => setZoom((z) => clampZoom(z + 0.5))}>Zoom in</button>
        <button type="button" class="secondary" onClick={() => setZoom((z) => clampZoom(z - 0.5))}>Zoom out</button>
        <button type="button" class="secondary" onClick={() => { setZoom(1); setPan({ x: 0, y: 0 }); }}>Reset view</button>
        {mode === 'overlay' && (
          <>
            <label for="opacity">Enrolled face opacity ({opacity} %)</label>
            <input id="opacity" type="range" min={0} max={100} value={opacity} onInput={(e) => setOpacity(Number(e.currentTarget.value))} />
          </>
        )}
      </div>
      {mode === 'side' && (
        <div class="pair">
          <figure>{viewport('Probe face', view(probe.url, 'Probe face'))}<figcaption>Probe face</figcaption></figure>
          <figure>{viewport('Enrolled face', view(cand.url, `Enrolled face of ${p.candidateName}`))}<figcaption>Enrolled face: {p.candidateName}</figcaption></figure>
        </div>
      )}
      {mode === 'overlay' && (
        <figure>
          {viewport('Overlay of both faces', <div class="stack">{view(probe.url, 'Probe face')}{view(cand.url, `Enrolled face of ${p.candidateName}`, { opacity: String(opacity / 100) })}</div>)}
          <figcaption>Enrolled face over the probe face at {opacity} % opacity</figcaption>
        </figure>
      )}
      {mode === 'flicker' && (
        <figure>
          {viewport('Flicker between both faces', view(flip ? cand.url : probe.url, flip ? `Enrolled face of ${p.candidateName}` : 'Probe face'))}
          <figcaption aria-live="off">Showing: {flip ? 'enrolled face' : 'probe face'} (alternates every 0.6 s)</figcaption>
        </figure>
      )}
    </section>
  );
}
