"""Request and response bodies: Create/Update for what comes in, Public for what goes out."""
