import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { createBridge } from './bridge/bridge';
import { BridgeContext } from './bridge/BridgeContext';
import './styles.css';

const root = createRoot(document.getElementById('root') as HTMLElement);
try {
  const bridge = createBridge();
  root.render(
    <StrictMode>
      <BridgeContext.Provider value={bridge}>
        <App />
      </BridgeContext.Provider>
    </StrictMode>,
  );
} catch (error) {
  root.render(<p className="fatal">{error instanceof Error ? error.message : String(error)}</p>);
}
