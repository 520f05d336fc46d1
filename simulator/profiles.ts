import { createHash } from 'node:crypto';
import { getBinaryNodeChild, type BinaryNode } from '@whiskeysockets/baileys';
import { findPhone, type Directory } from './directory.ts';

// What an account shows others: its profile picture (`w:profile:picture`) and, for a business account, its
// business profile (`w:biz`), answered in the shapes Baileys' `profilePictureUrl` and `getBusinessProfile` parse.

const notFound: BinaryNode = { tag: 'error', attrs: { code: '404', text: 'item-not-found' } };
const textNode = (tag: string, value: string | undefined): BinaryNode[] => (value ? [{ tag, attrs: {}, content: Buffer.from(value) }] : []);

// `<iq target=jid><picture type="image|preview" query="url"/>` → `<picture id url type/>`, or 404 without one.
export function answerProfilePicture(dir: Directory, iq: BinaryNode): BinaryNode[] {
  const phone = findPhone(dir, iq.attrs.target);
  const type = getBinaryNodeChild(iq, 'picture')?.attrs.type ?? 'preview';
  if (!phone?.pictureUrl) return [notFound];
  // The picture's id changes with its address, as WhatsApp's does with the picture.
  const id = createHash('sha256').update(phone.pictureUrl).digest().readUInt32BE(0).toString();
  const url = type === 'preview' ? `${phone.pictureUrl}${phone.pictureUrl.includes('?') ? '&' : '?'}preview=1` : phone.pictureUrl;
  return [{ tag: 'picture', attrs: { id, url, type } }];
}

// `<business_profile><profile jid/>` → the profile's fields; an account that is not a business gets none.
export function answerBusinessProfile(dir: Directory, iq: BinaryNode): BinaryNode[] {
  const jid = getBinaryNodeChild(getBinaryNodeChild(iq, 'business_profile'), 'profile')?.attrs.jid;
  const business = findPhone(dir, jid)?.business;
  if (!jid || !business) return [{ tag: 'business_profile', attrs: {} }];
  const profile: BinaryNode = {
    tag: 'profile',
    attrs: { jid },
    content: [
      ...textNode('description', business.description),
      ...textNode('address', business.address),
      ...textNode('email', business.email),
      ...textNode('website', business.website),
      { tag: 'categories', attrs: {}, content: [{ tag: 'category', attrs: { id: '1' }, content: Buffer.from(business.category) }] },
    ],
  };
  return [{ tag: 'business_profile', attrs: {}, content: [profile] }];
}
