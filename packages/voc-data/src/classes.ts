/** The 21 PASCAL VOC 2012 segmentation classes, in label-index order (0 is background). */
export const VOC_CLASSES: readonly string[] = Object.freeze([
  'background',
  'aeroplane',
  'bicycle',
  'bird',
  'boat',
  'bottle',
  'bus',
  'car',
  'cat',
  'chair',
  'cow',
  'diningtable',
  'dog',
  'horse',
  'motorbike',
  'person',
  'pottedplant',
  'sheep',
  'sofa',
  'train',
  'tvmonitor',
]);

/** Label value meaning "no label": VOC's void border, crop padding, and the loss/metrics ignore index. */
export const IGNORE_INDEX = 255;
