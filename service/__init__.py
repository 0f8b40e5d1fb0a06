"""HTTP and CLI edge of Golden Thread: routes, auth, pages. No business logic lives here."""
