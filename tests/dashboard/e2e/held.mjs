// Reads answered late, as a slow network answers an older read after a newer one. Each read of a page that
// matches `pattern` is made at once (its answer is the state when it was made) and held until `release`;
// after `pass`, reads are answered at once again.
export async function holdReads(page, pattern) {
  const held = [];
  let holding = true;
  await page.route(pattern, async (route) => {
    try {
      const response = await route.fetch();
      if (holding) held.push(() => route.fulfill({ response }));
      else await route.fulfill({ response });
    } catch (error) {  // a read still out when the route was removed: it went on to the server as usual
      if (!String(error).includes("already handled")) throw error;
    }
  });
  return {
    async count(atLeast = 1) {  // how many are held, once at least `atLeast` are (or 5 s have passed)
      for (let i = 0; i < 50 && held.length < atLeast; i += 1) await page.waitForTimeout(100);
      return held.length;
    },
    pass() { holding = false; },
    async release() {  // the held answers arrive, oldest first; then the page settles
      holding = false;
      for (const answer of held.splice(0)) await answer();
      await page.unroute(pattern);
      await page.waitForTimeout(500);
    },
  };
}
