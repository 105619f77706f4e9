/**
 * Feature-by-feature comparison a reviewer records with a decision, after the FISWG facial-comparison feature list
 * (FISWG "Facial Image Comparison Feature List for Morphological Analysis"): each feature is judged similar, different or
 * not visible in one of the two images.
 */
export const CHECKLIST_FEATURES = ['faceShape', 'hairline', 'eyebrows', 'eyes', 'nose', 'ears', 'mouth', 'chin', 'marks'] as const;
export type ChecklistFeature = (typeof CHECKLIST_FEATURES)[number];
export const CHECKLIST_VALUES = ['similar', 'different', 'not_visible'] as const;
export type ChecklistValue = (typeof CHECKLIST_VALUES)[number];
export type FeatureChecklist = Partial<Record<ChecklistFeature, ChecklistValue>>;
