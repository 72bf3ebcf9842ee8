/**
 * The app:// handler serves real files inside the renderer folder only: a symbolic link
 * placed in the folder that points elsewhere on the disk answers 404 (issue 9, item 7).
 * Plain Node over the handler's function; the Electron glue only passes requests in.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { serveAppRequest } from '../../electron/main/app-protocol'

describe('app:// follows real paths', () => {
  let base: string
  let root: string
  before(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'vkey-app-protocol-'))
    root = path.join(base, 'renderer')
    await mkdir(path.join(root, 'assets'), { recursive: true })
    await writeFile(path.join(root, 'index.html'), '<!doctype html><title>VK Depot</title>')
    await writeFile(path.join(root, 'assets', 'app.js'), 'console.log(1)')
    await mkdir(path.join(base, 'outside'))
    await writeFile(path.join(base, 'outside', 'secret.txt'), 'not for the page')
    // Links inside the renderer folder that lead out of it: one to a file, one to a folder.
    await symlink(path.join(base, 'outside', 'secret.txt'), path.join(root, 'secret.txt'))
    await symlink(path.join(base, 'outside'), path.join(root, 'linked'))
    // A link that stays inside is harmless.
    await symlink(path.join(root, 'assets', 'app.js'), path.join(root, 'alias.js'))
    // The renderer folder itself reached through a link (an installed app's path may be one).
    await symlink(root, path.join(base, 'renderer-link'))
  })
  after(() => rm(base, { recursive: true, force: true }))

  it('answers 404 for a symbolic link to a file outside the folder', async () => {
    const response = await serveAppRequest(root, { url: 'app://vkey/secret.txt', method: 'GET' })
    assert.equal(response.status, 404)
    assert.doesNotMatch(await response.text(), /not for the page/)
  })

  it('answers 404 for a file under a linked folder that lies outside', async () => {
    const response = await serveAppRequest(root, { url: 'app://vkey/linked/secret.txt', method: 'GET' })
    assert.equal(response.status, 404)
    assert.doesNotMatch(await response.text(), /not for the page/)
  })

  it('still serves real files, links that stay inside, and a renderer folder reached through a link', async () => {
    const index = await serveAppRequest(root, { url: 'app://vkey/', method: 'GET' })
    assert.equal(index.status, 200)
    assert.match(await index.text(), /VK Depot/)
    const alias = await serveAppRequest(root, { url: 'app://vkey/alias.js', method: 'GET' })
    assert.equal(alias.status, 200)
    assert.equal(await alias.text(), 'console.log(1)')
    const viaLink = await serveAppRequest(path.join(base, 'renderer-link'), { url: 'app://vkey/assets/app.js', method: 'GET' })
    assert.equal(viaLink.status, 200)
    assert.equal((await serveAppRequest(root, { url: 'app://vkey/assets', method: 'GET' })).status, 404, 'a folder is not a file')
  })
})
