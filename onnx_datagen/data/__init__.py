"""Image sets as data: the Dataset (streamed images + manifest), image sets read from folders and .npz, diversity."""
