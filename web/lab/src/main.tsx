import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import 'uplot/dist/uPlot.min.css';
import './lab.css';
import { App } from './App.tsx';
import { applyStoredLargeText } from './components/LargeText.tsx';
import { LabRuns } from './runs.ts';

declare global {
  interface Window {
    /** The lab's runs, for scripts and the browser tests (test/lab.test.ts). */
    groklabLab?: { runs: LabRuns };
  }
}

applyStoredLargeText();
const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
// The workers' scripts sit next to main.js, wherever the lab is hosted.
const runs = await LabRuns.open(new URL('.', import.meta.url));
window.groklabLab = { runs };
createRoot(root).render(
  <StrictMode>
    <App runs={runs} />
  </StrictMode>,
);
