"""The synthetic thermal face data set: people, their rendered images, the sample folders."""
