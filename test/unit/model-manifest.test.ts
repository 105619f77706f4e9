import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_MODEL_ID,
  listManifests,
  MODELS_DIR,
  readManifest,
  readVerifiedCentre,
  readVerifiedOnnx,
  readVerifiedWeights,
  weightsSha256,
} from '../../src/platform/face/model-manifest';
import { calibrationFile } from '../../src/platform/face/calibration.store';

describe('model manifests', () => {
  it('ships the default model, and every shipped manifest verifies against the installed weight files and has a calibration table', () => {
    const all = listManifests();
    expect(all.has(DEFAULT_MODEL_ID)).toBe(true);
    for (const m of all.values()) {
      if (m.runtime === 'onnx') {
        const nets = readVerifiedOnnx(m);
        // A detector with its own five landmarks (YuNet) needs no landmark net.
        const layout = nets[0]!.net.onnx!.format === 'yunet' ? [['detector', 'yunet'], ['embedder', 'embedding']] : [['detector', 'ultraface'], ['landmarks', 'landmarks68'], ['embedder', 'embedding']];
        expect(nets.map((n) => [n.net.role, n.net.onnx!.format])).toEqual(layout);
        expect(m.licence).toBeDefined();
      } else {
        const nets = readVerifiedWeights(m);
        expect(nets.map((n) => n.role)).toEqual(['detector', 'landmarks', 'embedder']);
        expect(nets.map((n) => n.name).slice(0, 2)).toEqual(['ssdMobilenetv1', 'faceLandmark68Net']);
        if (nets[2]!.kind === 'graph') expect(m.pipeline.output).toBeTruthy();
      }
      expect(readVerifiedCentre(m)?.length ?? m.embeddingSize).toBe(m.embeddingSize);
      expect(fs.existsSync(calibrationFile(m.id))).toBe(true);
    }
  });

  it('refuses to load a weight file whose SHA-256 differs from the manifest, naming the file (both runtimes)', () => {
    const tfjs = structuredClone(readManifest('ssd-faceres-1024-flip@hm3.0.4'));
    tfjs.models[2]!.files[1]!.sha256 = '0'.repeat(64);
    expect(() => readVerifiedWeights(tfjs)).toThrow(new RegExp(`${tfjs.models[2]!.files[1]!.path.replace(/[.]/g, '\\.')} fails its SHA-256 check`));
    const onnx = structuredClone(readManifest(DEFAULT_MODEL_ID));
    onnx.models[2]!.files[0]!.sha256 = '0'.repeat(64);
    expect(() => readVerifiedOnnx(onnx)).toThrow(/fr_feature\.onnx fails its SHA-256 check/);
  });

  it('checks the centre file too, and the centre is part of the weights digest stored with every template', () => {
    const m = [...listManifests().values()].find((x) => x.pipeline.centre)!;
    expect(m).toBeDefined();
    const tampered = structuredClone(m);
    tampered.pipeline.centre!.sha256 = '0'.repeat(64);
    expect(() => readVerifiedCentre(tampered)).toThrow(/centre\.json fails its SHA-256 check/);
    expect(weightsSha256(tampered)).not.toBe(weightsSha256(m));
  });

  it('names the available models when FACE_MODEL asks for one that is not there', () => {
    expect(() => readManifest('no-such-model@0')).toThrow(new RegExp(`available: .*${DEFAULT_MODEL_ID.replace(/[.@]/g, '\\$&')}`));
  });

  it('refuses two manifests that declare the same model id', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-models-'));
    const src = fs.readdirSync(MODELS_DIR).find((f) => f.endsWith('.manifest.json'))!;
    fs.copyFileSync(path.join(MODELS_DIR, src), path.join(dir, 'a.manifest.json'));
    fs.copyFileSync(path.join(MODELS_DIR, src), path.join(dir, 'b.manifest.json'));
    expect(() => listManifests(dir)).toThrow(/declared twice/);
    fs.rmSync(dir, { recursive: true });
  });
});
