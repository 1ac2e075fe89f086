import { useRef, useState, type PointerEvent, type RefObject } from 'react';
import type { PickedImage } from './useImageFile';

/** The overlay's paint: any opaque colour counts (maskFromPaint reads alpha); shown half see-through by CSS. */
const PAINT = '#ff2d6f';

interface Point {
  x: number;
  y: number;
}

/** The pointer's place in the canvas's own pixels (the source image's), whatever size it is shown at. */
function canvasPoint(e: PointerEvent<HTMLCanvasElement>): Point {
  const canvas = e.currentTarget;
  const rect = canvas.getBoundingClientRect();
  return { x: ((e.clientX - rect.left) * canvas.width) / rect.width, y: ((e.clientY - rect.top) * canvas.height) / rect.height };
}

/** One dab of the brush, or a stroke from the last point. */
function paint(canvas: HTMLCanvasElement, from: Point | null, to: Point, size: number): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.fillStyle = PAINT;
  ctx.strokeStyle = PAINT;
  ctx.lineWidth = size;
  ctx.lineCap = 'round';
  ctx.beginPath();
  if (from) {
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
  } else {
    ctx.arc(to.x, to.y, size / 2, 0, 2 * Math.PI);
    ctx.fill();
  }
}

/**
 * A brush over the source image: what is painted is the area to repaint. The canvas has the
 * source's own size, so the mask lines up with the image whatever size the page shows it at.
 */
export function MaskPainter({ source, canvasRef }: { source: PickedImage; canvasRef: RefObject<HTMLCanvasElement | null> }) {
  const longest = Math.max(source.width, source.height);
  const [brush, setBrush] = useState(Math.max(1, Math.round(longest / 12)));
  const last = useRef<Point | null>(null);
  const down = (e: PointerEvent<HTMLCanvasElement>): void => {
    e.currentTarget.setPointerCapture(e.pointerId);
    last.current = canvasPoint(e);
    paint(e.currentTarget, null, last.current, brush);
  };
  const move = (e: PointerEvent<HTMLCanvasElement>): void => {
    if (!last.current) return;
    const to = canvasPoint(e);
    paint(e.currentTarget, last.current, to, brush);
    last.current = to;
  };
  const up = (): void => {
    last.current = null;
  };
  const clear = (): void => {
    const canvas = canvasRef.current;
    canvas?.getContext('2d')?.clearRect(0, 0, canvas.width, canvas.height);
  };
  return (
    <>
      <div className="paint-stage">
        <img src={source.url} alt="source" />
        <canvas
          key={source.id}
          ref={canvasRef}
          width={source.width}
          height={source.height}
          data-testid="mask-canvas"
          aria-label="Paint the area to repaint"
          onPointerDown={down}
          onPointerMove={move}
          onPointerUp={up}
          onPointerCancel={up}
        />
      </div>
      <div className="row">
        <label>
          <span>Brush size: {brush} px of the source</span>
          <input
            type="range"
            name="brush"
            min={1}
            max={Math.max(2, Math.round(longest / 3))}
            value={brush}
            onChange={(e) => setBrush(Number(e.target.value))}
          />
        </label>
        <button type="button" onClick={clear}>
          Clear the mask
        </button>
      </div>
    </>
  );
}
