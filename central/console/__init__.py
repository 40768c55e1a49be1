"""The agents' console: server-rendered French pages (see ``docs/console.md``)."""
