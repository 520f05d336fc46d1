// Phone numbers as WhatsApp addresses them: E.164 digits without the `+`. People write them with `+`, spaces,
// dashes, dots and parentheses; anything else, a leading 0 (a national number without its country code) or a
// length outside E.164's 7–15 digits is not a number we can address.
export function normalizePhoneNumber(input: string): string | undefined {
  const trimmed = input.trim();
  if (!/^\+?[\d\s().-]+$/.test(trimmed)) return undefined;
  const digits = trimmed.replace(/\D/g, '');
  return /^[1-9]\d{6,14}$/.test(digits) ? digits : undefined;
}
