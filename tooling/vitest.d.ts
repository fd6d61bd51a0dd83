import type { UserConfig } from 'vitest/config';
export interface WorkspaceAlias {
  find: RegExp;
  replacement: string;
}
export declare function workspaceDirs(): string[];
export declare function workspaceAliases(): WorkspaceAlias[];
export declare function vitestPreset(overrides?: UserConfig): UserConfig;
