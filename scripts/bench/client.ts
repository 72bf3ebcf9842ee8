/**
 * Figure 1 — client overhead: the same token requests through VK Depot's PsaClient and
 * through a bare undici Agent with the same TLS material, at concurrency 1 and 8.
 *
 * Both run in this process; the simulator runs in its own process (latency 0), so the
 * time measured is the client's work plus the loopback round trip. The bare baseline sends
 * the same bytes (buildTokenRequest) and JSON-parses the answer; ours adds what the product
 * does on top: option checks, the capped body read, rate-limit headers, the schema check
 * and error mapping. Runs are interleaved A B B A … after a warm-up of both.
 */
import { Agent, request } from 'undici'
import { PsaClient, type PartnerCredentials, type TokenResult } from '../../electron/core/psa-client'
import { buildTokenRequest, type TokenRequestInput } from '../../electron/core/psa-request'
import { demoPartnerCredentials } from '../../electron/core/simulator'
import { collect, log, median, now, randomCarData, round, type SimulatorChild } from './util'

export interface ClientFigure {
  requests: number
  repetitions: number
  connectionsOurs: number
  byConcurrency: Array<{
    concurrency: number
    oursMs: number[]
    bareMs: number[]
    oursMedianMs: number
    bareMedianMs: number
    /** median(ours) / median(bare) */
    ratio: number
    /** median of the per-pair ratios, as a cross-check */
    pairRatio: number
    oursPerRequestUs: number
    barePerRequestUs: number
  }>
  /** One real answer, for the QR figure. */
  sample: TokenResult
}

export type Send = (input: TokenRequestInput) => Promise<unknown>

export async function pool(inputs: TokenRequestInput[], concurrency: number, send: Send): Promise<number> {
  let next = 0
  const started = now()
  const worker = async (): Promise<void> => {
    for (let i = next++; i < inputs.length; i = next++) await send(inputs[i]!)
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return now() - started
}

/** The simulator's demo partner credentials, as a profile would hold them. */
export function simulatorCredentials(sim: SimulatorChild): PartnerCredentials {
  return demoPartnerCredentials(sim)
}

/** The bare baseline: an undici Agent with undici's defaults and the same TLS material, verification on. */
export function bareSender(creds: PartnerCredentials, options: { connections?: number } = {}): { send: Send; close: () => Promise<void> } {
  const agent = new Agent({
    ...(options.connections ? { connections: options.connections } : {}),
    connect: { cert: creds.certPem, key: creds.keyPem, ca: [creds.caPem!], rejectUnauthorized: true, minVersion: 'TLSv1.2' },
  })
  const send: Send = async (input) => {
    const req = buildTokenRequest(creds, input)
    const res = await request(req.url, { dispatcher: agent, method: req.method, headers: req.headers, body: req.body })
    const json = (await res.body.json()) as { token?: { access_token?: string } }
    if (res.statusCode !== 200 || !json.token?.access_token) throw new Error(`bare undici: status ${res.statusCode}`)
    return json
  }
  return { send, close: () => agent.close() }
}

export async function clientFigure(sim: SimulatorChild, options: { requests: number; repetitions: number }): Promise<ClientFigure> {
  await sim.setLatency(0)
  const creds = simulatorCredentials(sim)
  // As PsaClients.forProfile (psa-clients.ts) builds it: 16 connections, so batch workers never queue behind each other.
  const connectionsOurs = 16
  const ours = new PsaClient(creds, { connections: connectionsOurs })
  const bare = bareSender(creds)
  const sendOurs: Send = (input) => ours.requestToken(input)
  const sendBare = bare.send

  const inputs: TokenRequestInput[] = Array.from({ length: options.requests }, () => ({ ...randomCarData(), durationSeconds: 3600 }))
  const sample = await ours.requestToken(inputs[0]!)

  const figure: ClientFigure = { requests: options.requests, repetitions: options.repetitions, connectionsOurs, byConcurrency: [], sample }
  try {
    for (const concurrency of [1, 8]) {
      // Warm-up: JIT, connections and TLS sessions for both.
      await pool(inputs.slice(0, 100), concurrency, sendOurs)
      await pool(inputs.slice(0, 100), concurrency, sendBare)
      const oursMs: number[] = []
      const bareMs: number[] = []
      for (let r = 0; r < options.repetitions; r++) {
        const order: Array<['ours' | 'bare', Send]> =
          r % 2 === 0
            ? [
                ['ours', sendOurs],
                ['bare', sendBare],
              ]
            : [
                ['bare', sendBare],
                ['ours', sendOurs],
              ]
        for (const [name, send] of order) {
          collect()
          const ms = await pool(inputs, concurrency, send)
          ;(name === 'ours' ? oursMs : bareMs).push(ms)
        }
      }
      const oursMedianMs = median(oursMs)
      const bareMedianMs = median(bareMs)
      const row = {
        concurrency,
        oursMs: oursMs.map((v) => round(v, 1)),
        bareMs: bareMs.map((v) => round(v, 1)),
        oursMedianMs: round(oursMedianMs, 1),
        bareMedianMs: round(bareMedianMs, 1),
        ratio: round(oursMedianMs / bareMedianMs, 3),
        pairRatio: round(median(oursMs.map((v, i) => v / bareMs[i]!)), 3),
        oursPerRequestUs: round((oursMedianMs * 1000) / options.requests, 0),
        barePerRequestUs: round((bareMedianMs * 1000) / options.requests, 0),
      }
      figure.byConcurrency.push(row)
      log(`1. client c=${concurrency}: ours ${row.oursMedianMs} ms, bare ${row.bareMedianMs} ms, ratio ${row.ratio}`)
    }
  } finally {
    await ours.close()
    await bare.close()
  }
  return figure
}
