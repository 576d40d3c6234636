"""Emergency drills (演练) through the live platform: the people, their world, the scenarios."""
