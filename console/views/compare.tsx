import { useEffect, useRef, useState } from 'preact/hooks';
import { useBlobUrl } from '../api';
import { useI18n } from '../i18n';

type Mode = 'side' | 'overlay' | 'flicker';

/**
 * The probe face beside the enrolled face with one zoom and pan for both (slider, buttons, +/- and arrow keys on a focused
 * image, or dragging), and an overlay (adjustable opacity) or flicker view of the two aligned crops.
 */
export function Compare(p: { probe: string; candidate: string; candidateName: string }) {
  const { t } = useI18n();
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
    url ? <img src={url} alt={alt} style={{ transform, ...style }} draggable={false} /> : <span class="placeholder">{alt}: {t.common.notAvailable}</span>;
  const viewport = (label: string, body: preact.ComponentChildren) => (
    <div class="viewport" tabIndex={0} role="group" aria-label={t.compare.viewport(label)} onKeyDown={onKey} {...pointer}>
      {body}
    </div>
  );

  return (
    <section class="compare" aria-label={t.compare.label}>
      <fieldset class="inline">
        <legend>{t.compare.view}</legend>
        {(['side', 'overlay', 'flicker'] as Mode[]).map((m) => (
          <label key={m}>
            <input type="radio" name="compare-mode" value={m} checked={mode === m} onChange={() => setMode(m)} />
            {m === 'side' ? t.compare.side : m === 'overlay' ? t.compare.overlay : t.compare.flicker}
          </label>
        ))}
      </fieldset>
      <div class="inline">
        <label for="zoom">{t.compare.zoom(zoom.toFixed(2))}</label>
        <input id="zoom" type="range" min={1} max={8} step={0.25} value={zoom} onInput={(e) => setZoom(Number(e.currentTarget.value))} />
        <button type="button" class="secondary" onClick={() => setZoom((z) => clampZoom(z + 0.5))}>{t.compare.zoomIn}</button>
        <button type="button" class="secondary" onClick={() => setZoom((z) => clampZoom(z - 0.5))}>{t.compare.zoomOut}</button>
        <button type="button" class="secondary" onClick={() => { setZoom(1); setPan({ x: 0, y: 0 }); }}>{t.compare.reset}</button>
        {mode === 'overlay' && (
          <>
            <label for="opacity">{t.compare.opacity(opacity)}</label>
            <input id="opacity" type="range" min={0} max={100} value={opacity} onInput={(e) => setOpacity(Number(e.currentTarget.value))} />
          </>
        )}
      </div>
      {mode === 'side' && (
        <div class="pair">
          <figure>{viewport(t.compare.probe, view(probe.url, t.compare.probe))}<figcaption>{t.compare.probe}</figcaption></figure>
          <figure>{viewport(t.compare.enrolled, view(cand.url, t.compare.enrolledOf(p.candidateName)))}<figcaption>{t.compare.enrolledCaption(p.candidateName)}</figcaption></figure>
        </div>
      )}
      {mode === 'overlay' && (
        <figure>
          {viewport(t.compare.overlayLabel, <div class="stack">{view(probe.url, t.compare.probe)}{view(cand.url, t.compare.enrolledOf(p.candidateName), { opacity: String(opacity / 100) })}</div>)}
          <figcaption>{t.compare.overlayCaption(opacity)}</figcaption>
        </figure>
      )}
      {mode === 'flicker' && (
        <figure>
          {viewport(t.compare.flickerLabel, view(flip ? cand.url : probe.url, flip ? t.compare.enrolledOf(p.candidateName) : t.compare.probe))}
          <figcaption aria-live="off">{t.compare.showing(flip ? t.compare.enrolledWord : t.compare.probeWord)}</figcaption>
        </figure>
      )}
    </section>
  );
}
