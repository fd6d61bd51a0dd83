// The camera: frames from getUserMedia segmented one after another (each waits for the last, so
// the rate is the model's own), with the frames per second measured over the last second or so.
import { rgbaToRgb } from '@semseg/voc-data';
import type { App } from './app.js';

/** Frames are segmented at most this many pixels on their longer side. */
export const CAMERA_SIDE = 320;

export async function startCamera(app: App, video: HTMLVideoElement): Promise<(() => void) | null> {
  let stream: MediaStream;
  try {
    if (!navigator.mediaDevices?.getUserMedia)
      throw new Error('this browser gives no camera access (getUserMedia)');
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (error) {
    app.showError(error, 'Starting the camera');
    return null;
  }
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  let running = true;
  app.setCamera({ on: true, frames: 0, fps: 0 });
  const canvas = new OffscreenCanvas(1, 1);
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  const recent: number[] = [];
  const loop = async () => {
    let frames = 0;
    while (running) {
      const scale = Math.min(1, CAMERA_SIDE / Math.max(video.videoWidth, video.videoHeight, 1));
      const width = Math.max(1, Math.round(video.videoWidth * scale));
      const height = Math.max(1, Math.round(video.videoHeight * scale));
      if (video.videoWidth === 0) {
        await new Promise((done) => setTimeout(done, 50));
        continue;
      }
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
      }
      context.drawImage(video, 0, 0, width, height);
      const rgba = context.getImageData(0, 0, width, height).data;
      await app.segmentFrame({ width, height, data: rgbaToRgb(rgba, width, height) }, 'camera.png');
      frames++;
      const now = performance.now();
      recent.push(now);
      while (recent.length > 1 && now - recent[0]! > 2000) recent.shift();
      const fps = recent.length > 1 ? ((recent.length - 1) * 1000) / (now - recent[0]!) : 0;
      if (running) app.setCamera({ frames, fps });
    }
  };
  const done = loop().catch((error) => app.showError(error, 'The camera'));
  return () => {
    running = false;
    void done.then(() => {
      for (const track of stream.getTracks()) track.stop();
      video.srcObject = null;
      video.hidden = true;
      app.setCamera({ on: false });
    });
  };
}
