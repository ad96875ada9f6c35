import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { MetricsError } from '../errors';

/**
 * Renders a Vega-Lite spec to an SVG string headlessly (no browser, no canvas): text is measured by
 * Vega's built-in estimate, so labels can be a little wider or narrower than in a browser.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  let view: vega.View | undefined;
  try {
    const compiled = compile(spec).spec;
    view = new vega.View(vega.parse(compiled), { renderer: 'none' });
    return await view.toSVG();
  } catch (e) {
    throw new MetricsError('RENDER_FAILED', `could not render chart: ${(e as Error).message}`, { cause: e });
  } finally {
    view?.finalize();
  }
}

/**
 * Rasterises an SVG to PNG with sharp (librsvg; fonts through fontconfig, DejaVu Sans expected).
 * `density` in DPI: 72 = SVG pixel size, 144 (default) = 2× for crisp text.
 */
export async function svgToPng(svg: string, density = 144): Promise<Buffer> {
  try {
    return await sharp(Buffer.from(svg), { density }).png().toBuffer();
  } catch (e) {
    throw new MetricsError('RENDER_FAILED', `could not rasterise chart: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** A rendered chart: its spec (for the dashboard), SVG text and PNG bytes. */
export interface RenderedPlot {
  /** File-name stem, e.g. "roc". */
  name: string;
  title: string;
  spec: TopLevelSpec;
  svg: string;
  png: Buffer;
}

/** Renders one named spec to SVG and PNG. */
export async function renderPlot(name: string, title: string, spec: TopLevelSpec): Promise<RenderedPlot> {
  const svg = await renderSvg(spec);
  return { name, title, spec, svg, png: await svgToPng(svg) };
}
