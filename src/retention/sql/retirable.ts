/**
 * The one definition of "this session may be retired", on `s` (agentpg_sessions) with the age cut
 * `now() - $<ageParam> ms` (database clock): every run of the session is finished (no run in flight:
 * queued, running, awaiting_input) and finished before the cut, and neither the session nor any
 * session above it (parent_session_id chain: agents as tools) is under a hold. Used by the lock
 * statement and again, with a fresh snapshot, by the recheck after the lock (keepRetirableSessions).
 */
export function retirableCondition(ageParam: number): string {
  return `not exists (
      select 1 from agentpg_runs r
       where r.session_id = s.id
         and (r.finalized_at is null
              or r.finalized_at >= now() - make_interval(secs => $${ageParam}::double precision / 1000)))
    and not exists (
      with recursive chain(id, depth) as (
        select s.id, 0
        union all
        select p.parent_session_id, c.depth + 1
          from chain c join agentpg_sessions p on p.id = c.id
         where p.parent_session_id is not null and c.depth < 100
      )
      select 1 from chain c join agentpg_session_holds h on h.session_id = c.id)`;
}
