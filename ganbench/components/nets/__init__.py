"""Networks with a leading seed axis."""
