"""Docker's own operations: the client, and the images built where no registry serves them."""
