import { useEffect, useRef, useState } from 'react';
import type { View } from 'vega';
import type { TopLevelSpec } from 'vega-lite';

type VegaLibs = [typeof import('vega'), typeof import('vega-lite')];
let libs: Promise<VegaLibs> | null = null;
/** Vega and Vega-Lite load on the first chart (a separate chunk), so sign-in and tables load fast. */
const loadVega = (): Promise<VegaLibs> => (libs ??= Promise.all([import('vega'), import('vega-lite')]));

/**
 * Renders a Vega-Lite spec from libs/metrics (the same builders the run and sweep reports use) as
 * SVG with Vega. The figure carries an accessible name; the SVG is re-rendered when the spec changes.
 */
export function VegaChart(props: { spec: TopLevelSpec; label: string; name?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  const [rendered, setRendered] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let view: View | undefined;
    let live = true;
    loadVega()
      .then(([vega, vl]) => {
        if (!live) return;
        const compiled = vl.compile({ ...props.spec, description: props.label } as TopLevelSpec).spec;
        view = new vega.View(vega.parse(compiled), { renderer: 'svg', container: el, hover: true });
        return view.runAsync().then(() => {
          if (!live) return;
          setError(null);
          setRendered((n) => n + 1);
        });
      })
      .catch((e: unknown) => live && setError(String(e)));
    return () => {
      live = false;
      view?.finalize();
    };
  }, [props.spec, props.label]);
  return (
    <figure className="chart" aria-label={props.label} data-chart={props.name} data-rendered={rendered}>
      <div ref={ref} />
      {error && <p role="alert">Chart could not be drawn: {error}</p>}
    </figure>
  );
}
