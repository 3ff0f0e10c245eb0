// Entry of the site dashboard: global styles, then the App component into #app.
import { mount } from 'svelte';
import App from './App.svelte';
import { assert } from './lib/assert.ts';
import './app.css';

const target = document.getElementById('app');
assert(target !== null, 'index.html must contain <div id="app">');
mount(App, { target });
