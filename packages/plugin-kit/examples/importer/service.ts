/**
 * A stand-in for a service's API, so that the example runs anywhere: a feed of posts with their
 * authors. Replace it with calls to the real service (its tokens are on `this.account`).
 */
export interface Author {
  id: string;
  handle: string;
  name: string;
}

export interface Post {
  id: string;
  text: string;
  /** Milliseconds since 1970. */
  date: number;
  author: Author;
}

const ada: Author = { id: 'u1', handle: '@ada', name: 'Ada' };
const bob: Author = { id: 'u2', handle: '@bob', name: 'Bob' };
const cy: Author = { id: 'u3', handle: '@cy', name: 'Cy' };

export const DEMO_POSTS: readonly Post[] = [
  { id: 'p1', text: 'Hello, Pod', date: Date.UTC(2024, 0, 1), author: ada },
  { id: 'p2', text: 'My data, my rules', date: Date.UTC(2024, 0, 2), author: bob },
  { id: 'p3', text: 'Plugins import incrementally', date: Date.UTC(2024, 0, 3), author: ada },
  { id: 'p4', text: 'One Person per Account', date: Date.UTC(2024, 0, 4), author: cy },
  { id: 'p5', text: 'See you at the next run', date: Date.UTC(2024, 0, 5), author: bob },
];

export class DemoService {
  constructor(private readonly posts: readonly Post[] = DEMO_POSTS) {}

  /** Posts from `since` on, oldest first; `since` is inclusive, as in many APIs. */
  async postsSince(since: number): Promise<Post[]> {
    return this.posts.filter((post) => post.date >= since).sort((a, b) => a.date - b.date);
  }
}
