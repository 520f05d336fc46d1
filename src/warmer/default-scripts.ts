import type { Script } from '../domain/warmer.ts';

// The conversations a campaign without scripts of its own holds: small talk between two people, a few seconds apart,
// so a new number's first weeks look like a person's.
export const DEFAULT_SCRIPTS: readonly Script[] = [
  {
    name: 'Catching up',
    variables: ['name'],
    messages: [
      { sender: 'bot', message: 'Hey {name}, how have you been?', delay: 2000 },
      { sender: 'user', message: 'Pretty good, busy week though. You?', delay: 6000 },
      { sender: 'bot', message: 'Same here, work has been a lot. We should catch up soon', delay: 5000 },
      { sender: 'user', message: 'Definitely, let me know when you are free', delay: 4000 },
    ],
  },
  {
    name: 'Weekend plans',
    variables: ['day', 'place'],
    messages: [
      { sender: 'bot', message: 'Any plans for {day}?', delay: 1500 },
      { sender: 'user', message: 'Not yet, thinking of going to {place}', delay: 7000 },
      { sender: 'bot', message: 'Oh nice, mind if I join?', delay: 4000 },
      { sender: 'user', message: 'Sure, the more the merrier', delay: 3000 },
      { sender: 'bot', message: 'Great, see you there 👍', delay: 3000 },
    ],
  },
  {
    name: 'Lunch',
    variables: ['food'],
    messages: [
      { sender: 'bot', message: 'Have you had lunch yet?', delay: 1000 },
      { sender: 'user', message: 'Not yet, I was about to order {food}', delay: 5000 },
      { sender: 'bot', message: 'Sounds good, enjoy!', delay: 3000 },
    ],
  },
  {
    name: 'Recommendation',
    variables: ['movie'],
    messages: [
      { sender: 'bot', message: 'I watched {movie} last night, have you seen it?', delay: 2000 },
      { sender: 'user', message: 'Not yet! Is it any good?', delay: 6000 },
      { sender: 'bot', message: 'Really good, you would like it', delay: 4000 },
      { sender: 'user', message: 'Adding it to my list, thanks', delay: 3000 },
    ],
  },
  {
    name: 'Quick check-in',
    variables: [],
    messages: [
      { sender: 'bot', message: 'Good morning! Did you get home alright yesterday?', delay: 1000 },
      { sender: 'user', message: 'Morning! Yes, all good, thanks for asking', delay: 5000 },
    ],
  },
];
