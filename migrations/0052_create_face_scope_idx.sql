-- A search whose scope (the watchlists the caller may see, or names) holds few templates is answered exactly from the scope's
-- rows instead of the HNSW graph (face.repo nearestSubjects): with a filter that keeps 1 % of the gallery, the iterative HNSW
-- scan walks past the other 99 % and took several times the unfiltered latency (docs/SCALING.md, "Gallery at scale").
-- This index finds the scope's rows and counts them (up to the exact-scan limit) before the plan is chosen.
-- On watchlist_id::text, not the uuid: the HNSW statement filters on the uuid, and a plain (watchlist_id, model_id) btree
-- offered the planner a "read the scope, sort it" plan for it that it took for whole galleries (every template read).
CREATE INDEX face_scope_idx ON face ((watchlist_id::text), model_id);
