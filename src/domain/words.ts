/** Plain words for codes shown to people (case file, console). */
const QUALITY: Record<string, string> = {
  SMALL_FACE: 'the face is small in the image',
  BLUR: 'the face is blurred',
  EXTREME_POSE: 'the head is turned too far',
  LOW_DETECTION_SCORE: 'the detector was unsure this is a face',
  POOR_EXPOSURE: 'the face is too dark or too bright',
};

const STATES: Record<string, string> = {
  pending: 'not reviewed yet',
  awaiting_second_confirmation: 'confirmed once, awaiting a second reviewer',
  confirmed: 'confirmed by two reviewers',
  rejected: 'rejected',
  inconclusive: 'inconclusive',
  blind: 'hidden until you record your decision',
};

export const qualityIssueWords = (code: string) => QUALITY[code] ?? code.toLowerCase().replace(/_/g, ' ');
export const reviewStateWords = (state: string) => STATES[state] ?? state.replace(/_/g, ' ');
