import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { crfSettingsFromFlags, parseCrfOption } from '../src/options/crf.js';
import {
  parseKeyValues,
  parseNonNegativeInt,
  parsePositiveInt,
  parsePositiveNumber,
  parseScales,
  parseSize,
  parseUnitInterval,
  parseWidth,
} from '../src/options/numbers.js';
import { defaultThreads } from '../src/options/threads.js';

describe('number flags', () => {
  it('accept plain decimal notation only', () => {
    expect(parsePositiveInt('12')).toBe(12);
    expect(parsePositiveNumber('2e-3')).toBe(0.002);
    expect(parseNonNegativeInt('0')).toBe(0);
    expect(parseUnitInterval('0.99')).toBe(0.99);
    for (const bad of ['', ' ', 'abc', '0x10', '1e', 'Infinity', 'NaN', '1,5']) {
      expect(() => parsePositiveNumber(bad), bad).toThrow(UsageError);
    }
    expect(() => parsePositiveInt('0')).toThrow(/whole number >= 1, got '0'/);
    expect(() => parsePositiveInt('2.5')).toThrow(/whole number/);
    expect(() => parseNonNegativeInt('-1')).toThrow(/>= 0/);
    expect(() => parseUnitInterval('1')).toThrow(/\[0, 1\)/);
  });

  it('widths as fractions or decimals in (0, 1]', () => {
    expect(parseWidth('1/8')).toBe(0.125);
    expect(parseWidth('0.25')).toBe(0.25);
    expect(parseWidth('1')).toBe(1);
    expect(() => parseWidth('2')).toThrow(/\(0, 1\]/);
    expect(() => parseWidth('1/0')).toThrow(UsageError);
    expect(() => parseWidth('0')).toThrow(UsageError);
  });

  it('scales, sizes and name=value pairs', () => {
    expect(parseScales('0.5,0.75, 1,1.25')).toEqual([0.5, 0.75, 1, 1.25]);
    expect(() => parseScales('0.5,,1')).toThrow(UsageError);
    expect(() => parseScales('0,1')).toThrow(/scale '0' must be in \(0, 8\]/);
    expect(() => parseScales('1,1')).toThrow(/repeat/);
    expect(parseSize('321')).toEqual([321, 321]);
    expect(parseSize('321x481')).toEqual([321, 481]);
    expect(parseSize('48,64')).toEqual([48, 64]);
    expect(() => parseSize('0')).toThrow(UsageError);
    expect(() => parseSize('3x4x5')).toThrow(UsageError);
    expect(parseKeyValues('sxy=80:60,srgb=13,compat=10', ['sxy', 'srgb', 'compat'])).toEqual({
      sxy: [80, 60],
      srgb: 13,
      compat: 10,
    });
    expect(() => parseKeyValues('sxy=3,foo=1', ['sxy', 'compat'])).toThrow(
      /unknown key 'foo'; use sxy, compat/,
    );
    expect(() => parseKeyValues('sxy=3,sxy=4', ['sxy'])).toThrow(/given twice/);
    expect(() => parseKeyValues('sxy', ['sxy'])).toThrow(/name=value/);
  });
});

describe('CRF flags', () => {
  it('start from the preset and replace what the flags give', () => {
    // No --preset: the one default of every command, DeepLab v1's.
    expect(crfSettingsFromFlags({})).toEqual({
      gaussian: { sxy: 3, compat: 3 },
      bilateral: { sxy: 121, srgb: 5, compat: 4 },
      iterations: 10,
    });
    expect(
      crfSettingsFromFlags({ preset: 'deeplabV1', bilateral: 'sxy=50:40,compat=5', iterations: '3' }),
    ).toEqual({
      gaussian: { sxy: 3, compat: 3 },
      bilateral: { sxy: [50, 40], srgb: 5, compat: 5 },
      iterations: 3,
    });
    expect(() => crfSettingsFromFlags({ gaussian: 'sxy=0' })).toThrow(/gaussian\.sxy/);
    expect(() => crfSettingsFromFlags({ bilateral: 'srgb=1:2' })).toThrow(/srgb takes 1 or 3 value/);
    expect(() => crfSettingsFromFlags({ preset: 'nope' })).toThrow(/unknown CRF preset 'nope'/);
  });

  it('--crf takes nothing (DeepLab), a preset in any spelling, JSON or a JSON file', () => {
    expect(parseCrfOption(true)).toBe('deeplabV1');
    expect(parseCrfOption('deconv-net')).toBe('deconvNet');
    expect(
      parseCrfOption(
        '{"gaussian":{"sxy":3,"compat":3},"bilateral":{"sxy":60,"srgb":10,"compat":5},"iterations":4}',
      ),
    ).toEqual({
      gaussian: { sxy: 3, compat: 3 },
      bilateral: { sxy: 60, srgb: 10, compat: 5 },
      iterations: 4,
    });
    expect(() => parseCrfOption('{"gaussian":{}}')).toThrow(/--crf: invalid CRF settings/);
    expect(() => parseCrfOption('/no/such/file.json')).toThrow(
      /neither a preset .* nor a readable JSON file/,
    );
  });
});

describe('--threads default', () => {
  it('is SEMSEG_THREADS when set, else the machine cores; a bad value is a usage error naming it', () => {
    expect(defaultThreads({ SEMSEG_THREADS: '3' })).toBe(3);
    expect(defaultThreads({})).toBe(availableParallelism());
    expect(defaultThreads({ SEMSEG_THREADS: ' ' })).toBe(availableParallelism());
    expect(() => defaultThreads({ SEMSEG_THREADS: '0' })).toThrow(UsageError);
    expect(() => defaultThreads({ SEMSEG_THREADS: 'two' })).toThrow(/^SEMSEG_THREADS: 'two' is not a number/);
  });
});
