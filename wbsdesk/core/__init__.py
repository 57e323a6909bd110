"""Pure logic over plain data: protocols, folds, metrics, statistics, jobs. No I/O."""
