// Entry point: theme first (no flash of the wrong one), then the app.
import { render } from 'preact';

import 'uplot/dist/uPlot.min.css';
import './styles.css';

import { App } from './app';
import { applyTheme } from './components/timepicker';

applyTheme();
render(<App />, document.getElementById('app')!);
