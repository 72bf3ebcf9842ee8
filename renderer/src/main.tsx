import './zod-setup'
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import './styles.css'
import { initI18n } from './i18n'
import { App } from './App'

async function start(): Promise<void> {
  await initI18n()
  const root = document.getElementById('root')
  if (!root) throw new Error('index.html has no #root element')
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  )
}

void start()
