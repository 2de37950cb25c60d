import { describe, expect, it } from 'vitest';
import { createRoleCheck, type SlackAccount, templateNeedsMarketer } from '../../src/bridge/permissions.js';

const member: SlackAccount = { deleted: false, isBot: false, isAdmin: false, isGuest: false, teamId: 'T111' };
const accounts: Record<string, SlackAccount> = {
  UMEMBER: member,
  UADMIN: { ...member, isAdmin: true },
  UGONEADMIN: { ...member, isAdmin: true, deleted: true },
  UGUEST: { ...member, isGuest: true },
  UBOTUSER: { ...member, isBot: true },
  UGONE: { ...member, deleted: true },
  UINGROUP: member,
};

function directory(options: { failFor?: string } = {}) {
  const asked: string[] = [];
  return {
    asked,
    account: async (userId: string) => {
      asked.push(userId);
      if (userId === options.failFor) throw new Error('slack unreachable');
      return accounts[userId] ?? null;
    },
    groupMembers: async (groupId: string) => (groupId === 'SGROUP' ? ['UINGROUP', 'UGONE'] : []),
  };
}

describe('roles', () => {
  it('grants only active workspace admins and owners when unset', async () => {
    const check = createRoleCheck('MARKETERS', { kind: 'admins' }, directory());
    const granted = [];
    for (const id of Object.keys(accounts)) if (await check(id)) granted.push(id);
    expect(granted).toEqual(['UADMIN']);
    expect(await check('UUNKNOWN')).toBe(false);
    expect(check.holders).toBe('workspace admins and owners (MARKETERS is not set)');
  });

  it('grants every active full member with *, never guests, bots or deactivated accounts', async () => {
    const check = createRoleCheck('LEADS', { kind: 'everyone' }, directory());
    const granted = [];
    for (const id of Object.keys(accounts)) if (await check(id)) granted.push(id);
    expect(granted).toEqual(['UMEMBER', 'UADMIN', 'UINGROUP']);
  });

  it('grants listed users (a guest too) and group members, unless deactivated, and asks Slack only about them', async () => {
    const dir = directory();
    const check = createRoleCheck('MARKETERS', { kind: 'listed', ids: ['UGUEST', 'UGONEADMIN', 'SGROUP'] }, dir);
    expect(await check('UGUEST')).toBe(true);
    expect(await check('UINGROUP')).toBe(true);
    expect(await check('UGONEADMIN')).toBe(false);
    expect(await check('UGONE')).toBe(false);
    expect(await check('UADMIN')).toBe(false);
    expect(dir.asked).not.toContain('UADMIN');
    expect(check.holders).toBe('the people listed in MARKETERS');
  });

  it('refuses when Slack cannot be asked, and reports it', async () => {
    const failures: string[] = [];
    const check = createRoleCheck('MARKETERS', { kind: 'admins' }, directory({ failFor: 'UADMIN' }), (userId) =>
      failures.push(userId),
    );
    expect(await check('UADMIN')).toBe(false);
    expect(failures).toEqual(['UADMIN']);
  });

  it('leaves only UTILITY and AUTHENTICATION templates open to every agent', () => {
    expect(templateNeedsMarketer('UTILITY')).toBe(false);
    expect(templateNeedsMarketer('authentication')).toBe(false);
    expect(templateNeedsMarketer('MARKETING')).toBe(true);
    expect(templateNeedsMarketer('SOMETHING_NEW')).toBe(true);
  });
});
